"""A local fake of the Telegram Bot API, speaking its documented format, for tests and the demo.

`POST /bot<token>/<method>` with form, multipart or JSON parameters, answering
`{"ok": true, "result": ...}` or `{"ok": false, "error_code": ..., "description": ...}` like
Telegram. Methods: getMe, sendMessage, sendPhoto, sendDocument, sendMediaGroup,
answerCallbackQuery, getFile (+ `GET /file/bot<token>/<path>`), setWebhook, deleteWebhook,
getWebhookInfo, getUpdates (updates queued with `push_update()`; an `offset` confirms and drops
the earlier ones, as Telegram does).

Files are registered with `add_file()`; with `any_file` set (the demo), getFile of a file id
nobody registered answers a `photos/...` path that serves those bytes, since the fixtures sent
with `lapor-gateway send-fixture` name photos the fake never received.

Every call is kept in `fake.calls` (`BotCall`: method, decoded parameters); `fake.sent(chat_id)`
gives the send* calls to one chat. Failures are injected with `fail()`, e.g.
`fake.fail("Forbidden: bot was blocked by the user", status=403, chat_id="777")`.

    fake = FakeTelegram()
    with serving(fake.app) as base_url:   # channels.fakes.server
        settings = load_settings(telegram_api_base_url=base_url, telegram_bot_token=fake.token)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, UploadFile
from fastapi.responses import JSONResponse, Response

BOT_USER = {"id": 900000001, "is_bot": True, "first_name": "LAPOR Bot", "username": "lapor_bot"}
SEND_METHODS = ("sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup")
ANY_FILE_DIR = "photos/any_"  # where getFile puts the `any_file` of an unregistered id


@dataclass
class BotCall:
    method: str
    params: dict[str, Any]
    at: datetime = field(default_factory=lambda: datetime.now(UTC))  # when it was called

    @property
    def chat_id(self) -> str | None:
        value = self.params.get("chat_id")
        return None if value is None else str(value)


@dataclass
class Failure:
    description: str
    status: int
    chat_id: str | None = None
    method: str | None = None
    retry_after: int | None = None
    times: int | None = 1


@dataclass
class StoredFile:
    content: bytes
    file_path: str


@dataclass
class FakeTelegram:
    token: str = "900000001:fake-telegram-token-for-tests"  # noqa: S105 - a fake
    calls: list[BotCall] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    files: dict[str, StoredFile] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    offsets_seen: list[int | None] = field(default_factory=list)
    file_downloads: int = 0
    any_file: bytes | None = None  # served for unregistered file ids (the demo)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._message_ids = itertools.count(5001)
        self._update_ids = itertools.count(700000001)
        self.app = self._build_app()

    # --- for tests -----------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.failures.clear()
            self.files.clear()
            self.updates.clear()
            self.webhook.clear()
            self.offsets_seen.clear()
            self.file_downloads = 0

    def fail(
        self,
        description: str,
        *,
        status: int = 400,
        chat_id: str | None = None,
        method: str | None = None,
        retry_after: int | None = None,
        times: int | None = 1,
    ) -> None:
        """Make the next matching call answer this Bot API error."""
        with self._lock:
            self.failures.append(Failure(description, status, chat_id, method, retry_after, times))

    def add_file(self, file_id: str, content: bytes, file_path: str | None = None) -> None:
        with self._lock:
            self.files[file_id] = StoredFile(content, file_path or f"documents/{file_id}.bin")

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates (an `update_id` is assigned when missing)."""
        with self._lock:
            update = dict(update)
            update.setdefault("update_id", next(self._update_ids))
            self.updates.append(update)
            return int(update["update_id"])

    def sent(self, chat_id: str | int | None = None) -> list[BotCall]:
        return [
            c
            for c in self.calls
            if c.method in SEND_METHODS and (chat_id is None or c.chat_id == str(chat_id))
        ]

    # --- the API -------------------------------------------------------------------------------

    def _take_failure(self, method: str, chat_id: str | None) -> Failure | None:
        with self._lock:
            for failure in self.failures:
                if failure.method in (None, method) and failure.chat_id in (None, chat_id):
                    if failure.times is not None:
                        failure.times -= 1
                        if failure.times <= 0:
                            self.failures.remove(failure)
                    return failure
        return None

    def _message(self, chat_id: Any, **content: Any) -> dict[str, Any]:
        chat = int(chat_id) if str(chat_id).lstrip("-").isdigit() else chat_id
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private", "first_name": "Warga"},
            "from": BOT_USER,
            **content,
        }

    @staticmethod
    def _photo(file: str) -> list[dict[str, Any]]:
        uid = str(zlib.crc32(file.encode()))
        return [
            {"file_id": f"{file}#s", "file_unique_id": uid + "s", "width": 90, "height": 90},
            {"file_id": f"{file}#m", "file_unique_id": uid + "m", "width": 800, "height": 800},
        ]

    async def _params(self, request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            body = await request.body()
            return json.loads(body) if body else {}
        form = await request.form()
        params: dict[str, Any] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                params[key] = {"upload": value.filename, "size": len(await value.read())}
                continue
            text = str(value)
            # PTB sends objects (keyboards, media lists) as JSON strings inside the form.
            if text[:1] in "[{":
                try:
                    params[key] = json.loads(text)
                    continue
                except json.JSONDecodeError:
                    pass
            params[key] = text
        return params

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        chat_id = params.get("chat_id")
        markup = params.get("reply_markup")
        inline = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        if method == "getMe":
            return BOT_USER
        if method == "sendMessage":
            extra = {"reply_markup": inline} if inline else {}
            return self._message(chat_id, text=params.get("text", ""), **extra)
        if method == "sendPhoto":
            caption = {"caption": params["caption"]} if params.get("caption") else {}
            extra = {"reply_markup": inline} if inline else {}
            return self._message(
                chat_id, photo=self._photo(str(params["photo"])), **caption, **extra
            )
        if method == "sendDocument":
            document = {"file_id": str(params["document"]), "file_unique_id": "doc"}
            return self._message(chat_id, document=document)
        if method == "sendMediaGroup":
            group = str(next(self._message_ids))
            return [
                self._message(chat_id, media_group_id=group, photo=self._photo(str(m["media"])))
                for m in params.get("media", [])
            ]
        if method == "answerCallbackQuery":
            return True
        if method == "getFile":
            stored = self.files.get(str(params.get("file_id")))
            if stored is None and self.any_file is not None:
                name = re.sub(r"[^A-Za-z0-9_-]", "_", str(params.get("file_id")))[:64]
                stored = StoredFile(self.any_file, f"{ANY_FILE_DIR}{name}.jpg")
            if stored is None:
                raise _ApiError(400, "Bad Request: invalid file_id")
            return {
                "file_id": params["file_id"],
                "file_unique_id": "u" + str(params["file_id"])[-8:],
                "file_size": len(stored.content),
                "file_path": stored.file_path,
            }
        if method == "setWebhook":
            with self._lock:
                self.webhook.clear()
                self.webhook.update(params)
            return True
        if method == "deleteWebhook":
            with self._lock:
                self.webhook.clear()
            return True
        if method == "getWebhookInfo":
            return {"url": self.webhook.get("url", ""), "pending_update_count": len(self.updates)}
        raise _ApiError(404, "Not Found")

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Fake Telegram Bot API")

        @app.post("/bot{token}/{method}")
        async def call(token: str, method: str, request: Request) -> Response:
            if token != self.token:
                return _error(401, "Unauthorized")
            params = await self._params(request)
            with self._lock:
                self.calls.append(BotCall(method, params))
            chat_id = None if params.get("chat_id") is None else str(params["chat_id"])
            failure = self._take_failure(method, chat_id)
            if failure is not None:
                return _error(failure.status, failure.description, failure.retry_after)
            if method == "getUpdates":
                return await self._get_updates(params)
            try:
                return JSONResponse({"ok": True, "result": self._result(method, params)})
            except _ApiError as exc:
                return _error(exc.status, exc.description)

        @app.get("/file/bot{token}/{file_path:path}")
        async def file(token: str, file_path: str) -> Response:
            if token != self.token:
                return Response(status_code=401)
            content = next(
                (stored.content for stored in self.files.values() if stored.file_path == file_path),
                None,
            )
            if content is None and file_path.startswith(ANY_FILE_DIR):
                content = self.any_file
            if content is None:
                return Response(status_code=404)
            with self._lock:
                self.file_downloads += 1
            return Response(content, media_type="application/octet-stream")

        return app

    async def _get_updates(self, params: dict[str, Any]) -> Response:
        offset = int(params["offset"]) if params.get("offset") not in (None, "") else None
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        with self._lock:
            self.offsets_seen.append(offset)
            if offset is not None:  # confirming: Telegram forgets everything before the offset
                self.updates[:] = [u for u in self.updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while not self.updates and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # long polling, as Telegram holds the request open
        with self._lock:
            batch = list(self.updates[:limit])
        return JSONResponse({"ok": True, "result": batch})


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _error(status: int, description: str, retry_after: int | None = None) -> JSONResponse:
    payload: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        payload["parameters"] = {"retry_after": retry_after}
    return JSONResponse(payload, status_code=status)
