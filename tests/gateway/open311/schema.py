"""The GeoReport v2 responses as JSON Schema, written from the spec's text
(http://wiki.open311.org/GeoReport_v2/, open311/open311.github.io `GeoReport_v2/index.md`): the
field names and the values the spec allows (`status` open|closed, `type` realtime|batch|blackbox,
w3 datetimes with a zone), and nothing else — the spec asks servers not to add foreign fields.

`xml_to_json` reads an XML response by the Spark convention the spec maps JSON from, so the XML
twin is checked against the same schema (with its root and item element names)."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

# "All date/time fields must be formatted in a common subset of ISO 8601 as per the w3 note.
# Timezone information (either Z meaning UTC, or an HH:MM offset from UTC) must be included."
W3_DATETIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$"
TEXT = {"type": ["string", "null"]}
W3 = {"type": "string", "pattern": W3_DATETIME}

SERVICE = {
    "type": "object",
    "required": ["service_code", "service_name", "metadata", "type"],
    "additionalProperties": False,
    "properties": {
        "service_code": {"type": "string", "minLength": 1},
        "service_name": {"type": "string", "minLength": 1},
        "description": TEXT,
        "metadata": {"type": "boolean"},
        "type": {"enum": ["realtime", "batch", "blackbox"]},
        "keywords": TEXT,  # "A comma separated list of tags or keywords"
        "group": TEXT,
    },
}
SERVICES = {"type": "array", "items": SERVICE}

ATTRIBUTE = {
    "type": "object",
    "required": ["variable", "code", "datatype", "required", "order", "description"],
    "additionalProperties": False,
    "properties": {
        "variable": {"type": "boolean"},
        "code": {"type": "string"},
        "datatype": {
            "enum": ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
        },
        "required": {"type": "boolean"},
        "datatype_description": TEXT,
        "order": {"type": "integer", "minimum": 1},
        "description": {"type": "string"},
        "values": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "name"],
                "properties": {"key": {}, "name": {"type": "string"}},
            },
        },
    },
}
SERVICE_DEFINITION = {
    "type": "object",
    "required": ["service_code", "attributes"],
    "additionalProperties": False,
    "properties": {
        "service_code": {"type": "string"},
        "attributes": {"type": "array", "items": ATTRIBUTE},
    },
}

SERVICE_REQUEST = {
    "type": "object",
    "required": [
        "service_request_id",
        "status",
        "service_name",
        "service_code",
        "requested_datetime",
        "updated_datetime",
    ],
    "additionalProperties": False,
    "properties": {
        "service_request_id": {"type": "string", "minLength": 1},
        "status": {"enum": ["open", "closed"]},
        "status_notes": TEXT,
        "service_name": {"type": "string"},
        "service_code": {"type": "string"},
        # "free form text limited to 4,000 characters"
        "description": {"type": ["string", "null"], "maxLength": 4000},
        "agency_responsible": TEXT,
        "service_notice": TEXT,
        "requested_datetime": W3,
        "updated_datetime": W3,
        "expected_datetime": {"anyOf": [W3, {"type": "null"}]},
        "address": TEXT,
        "address_id": TEXT,
        "zipcode": TEXT,
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "long": {"type": "number", "minimum": -180, "maximum": 180},
        "media_url": TEXT,
    },
}
SERVICE_REQUESTS = {"type": "array", "items": SERVICE_REQUEST}

# POST requests: service_request_id or token (never both), service_notice, account_id.
POSTED = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "service_request_id": {"type": "string", "minLength": 1},
            "token": {"type": "string"},
            "service_notice": TEXT,
            "account_id": TEXT,
        },
        "oneOf": [{"required": ["service_request_id"]}, {"required": ["token"]}],
    },
}
TOKENS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["service_request_id", "token"],
        "additionalProperties": False,
        "properties": {"service_request_id": {"type": "string"}, "token": {"type": "string"}},
    },
}
ERRORS = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "additionalProperties": False,
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
    },
}

# The XML element names: root → item, per response.
XML_ROOTS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
}
_BOOLEAN = {"metadata", "variable", "required"}
_NUMBER = {"lat", "long"}
_INTEGER = {"code", "order"}


def _value(name: str, text: str | None) -> Any:
    if text is None or text == "":
        return None
    if name in _BOOLEAN:
        assert text in ("true", "false"), f"{name}: {text!r} is not a boolean"
        return text == "true"
    if name in _NUMBER:
        return float(text)
    if name in _INTEGER and text.lstrip("-").isdigit():
        return int(text)
    return text


def _element(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return _value(element.tag, element.text)
    if element.tag in ("attributes", "values"):
        return [_element(child) for child in children]
    return {child.tag: _element(child) for child in children}


def xml_to_json(body: bytes, root: str) -> Any:
    """An XML response as its Spark-convention JSON; checks the declaration and root names."""
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>'), body[:60]
    tree = ET.fromstring(body)  # noqa: S314 - our own server's response, in a test
    assert tree.tag == root, f"root is <{tree.tag}>, not <{root}>"
    if root == "service_definition":
        result = _element(tree)
        result.setdefault("attributes", [])
        if result["attributes"] is None:
            result["attributes"] = []
        return result
    item = XML_ROOTS[root]
    assert all(child.tag == item for child in tree), f"<{root}> holds only <{item}>"
    return [_element(child) for child in tree]
