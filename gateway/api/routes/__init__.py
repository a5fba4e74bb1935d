"""Route modules, each with its own APIRouter."""
