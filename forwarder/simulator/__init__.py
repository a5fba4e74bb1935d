"""The built-in SP4N-LAPOR core: a separate small FastAPI app with its own SQLite database.

It implements the API our REST backend speaks by default (docs/core-api.md), the core's life
(verify, dispose, process, answer, close), signed push of every event, a tiny Indonesian web page
where a person plays the LAPOR! admin and agency, auto-answer for demos, and fault switches for
tests. It imports nothing from the gateway.
"""

from forwarder.simulator.app import create_app
from forwarder.simulator.core import CoreSimulator, FaultMode
from forwarder.simulator.lifecycle import Action, SimStatus
from forwarder.simulator.server import build_simulator_server, serve_simulator, simulator_options

__all__ = [
    "Action",
    "CoreSimulator",
    "FaultMode",
    "SimStatus",
    "build_simulator_server",
    "create_app",
    "serve_simulator",
    "simulator_options",
]
