"""Checks for scripts/schemathesis: a 5xx fails the run unless it is a 503 the operation documents
(the node was unreachable, or the queue was full)."""

import schemathesis


def _documented_statuses(case):
    definition = getattr(case.operation, "definition", None)
    raw = getattr(definition, "raw", None) or {}
    return {str(code) for code in (raw.get("responses") or {})}


@schemathesis.check
def no_undocumented_server_error(ctx, response, case):
    """Any 5xx but a documented 503 is a server error."""
    status = response.status_code
    if status < 500:
        return None
    if status == 503 and "503" in _documented_statuses(case):
        return None
    raise AssertionError(
        f"{case.operation.label} answered {status}, a server error this operation does not "
        f"document: {response.text[:500]}"
    )
