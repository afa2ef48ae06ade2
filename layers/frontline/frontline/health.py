"""``GET /api/health``: is the database reachable, and are the migrations current?"""


from aws_lambda_powertools.event_handler.api_gateway import Router

from frontline import db, migrate
from frontline.web import json_response

router = Router()


def health_report() -> tuple[bool, dict]:
    try:
        state = migrate.status(db.connection())
    except migrate.MigrationError as exc:
        return False, {"status": "unhealthy", "database": "reachable", "migrations": {"error": str(exc)}}
    except Exception as exc:  # any failure to reach the database is the answer, not a 500
        return False, {"status": "unhealthy", "database": "unreachable", "error": type(exc).__name__}
    healthy = state.current
    return healthy, {
        "status": "ok" if healthy else "unhealthy",
        "database": "reachable",
        "migrations": {"current": state.current, "applied": len(state.applied), "pending": state.pending},
    }


@router.get("/api/health")
def get_health():
    healthy, report = health_report()
    return json_response(200 if healthy else 503, report, {"Cache-Control": "no-store"})
