"""Schemathesis hooks of `npm run fuzz` (scripts/fuzz/main.ts loads them through schemathesis.toml).

One hook: `filter_failure`, which accepts exactly the failures below, and nothing else: each is
one line of FUZZ_ACCEPTED_LOG (JSON), which the run's summary counts by reason.

"Schema-valid request rejected" (ST202, check positive_data_acceptance) where no JSON Schema can
prevent it, because the server refuses a value for what it knows, not for its form:

- `cursor` of GET /orders and GET /orders/{id}/executions: an opaque token the server signs (the
  `next` of a previous page, bound to the filters); the document gives its form, but a drawn
  value of that form is still no cursor the server issued: 422 naming only `cursor`.
- `created_from` after `created_to` (GET /orders): a rule between two parameters, which JSON
  Schema cannot state for parameters; 422 naming only that rule.
- `Idempotency-Key` of POST /orders: the same key with another order is refused (422, documented);
  drawn keys repeat ("0", "a"), so a later case meets an earlier one's key.

"Deleted resource still available" (ST301, check use_after_free): DELETE /orders/{id} cancels an
order, it does not remove it (documented): GET /orders/{id} and its executions answer 200 after it
(and OPTIONS, which reads no order).
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

INVALID_CURSOR = "Invalid cursor: pass the `next` value of a previous page unchanged"
FOREIGN_CURSOR = "Invalid cursor: it was altered, or it belongs to a query with other filters"
RANGE_RULE = "`created_from` should not be after `created_to`"
KEY_REUSED = "Idempotency-Key was already used with a different request body"


def _body(response: Any) -> Any:
    try:
        return json.loads(response.content)
    except (TypeError, ValueError):
        return None


# Per operation: the 422 entries (loc, message) no schema can prevent, and the reason each is accepted.
BEYOND_SCHEMA: dict[str, list[tuple[list[str], tuple[str, ...], str]]] = {
    "GET /orders": [
        (["query", "cursor"], (INVALID_CURSOR, FOREIGN_CURSOR), "a drawn cursor is not one the server signed"),
        (["query", "created_from"], (RANGE_RULE,), "created_from after created_to"),
    ],
    "GET /orders/{id}/executions": [
        (["query", "cursor"], (INVALID_CURSOR,), "a drawn cursor is not one the server signed"),
    ],
}


def _reason(label: str, status: int, body: Any) -> str | None:
    """Why this refusal is accepted: every entry of the 422 is one no schema can prevent; else None."""
    if status != 422 or not isinstance(body, dict):
        return None
    if label == "POST /orders" and body == {"message": KEY_REUSED}:
        return "an Idempotency-Key reused with another order"
    details = body.get("detail")
    if not isinstance(details, list) or len(details) == 0:
        return None
    reasons: list[str] = []
    for detail in details:
        if not isinstance(detail, dict):
            return None
        matching = [
            reason
            for loc, messages, reason in BEYOND_SCHEMA.get(label, [])
            if detail.get("loc") == loc and detail.get("msg") in messages
        ]
        if not matching:
            return None
        reasons.append(matching[0])
    return " and ".join(sorted(set(reasons)))


def _cancelled_not_removed(label: str, status: int, body: Any) -> str | None:
    if status != 200:
        return None
    if label in ("OPTIONS /orders/{id}", "OPTIONS /orders/{id}/executions"):
        return "DELETE /orders/{id} cancels, it does not remove"  # and OPTIONS reads no order anyway
    if not isinstance(body, dict):
        return None
    if (label == "GET /orders/{id}" and "status" in body) or (label == "GET /orders/{id}/executions" and "data" in body):
        return "DELETE /orders/{id} cancels, it does not remove"
    return None


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    code = getattr(failure, "code", None)
    label = case.operation.label
    if code == "ST202":
        reason = _reason(label, response.status_code, _body(response))
    elif code == "ST301":
        reason = _cancelled_not_removed(label, response.status_code, _body(response))
    else:
        return True
    if reason is None:
        return True
    log = os.environ.get("FUZZ_ACCEPTED_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(json.dumps({"operation": label, "status": response.status_code, "reason": reason}) + "\n")
    return False
