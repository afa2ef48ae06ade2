from frontline.runtime import end_cold_start
from frontline.starforge.api import ingest_router
from frontline.web import make_resolver

app = make_resolver(ingest_router)
end_cold_start()


def lambda_handler(event, context):
    return app.resolve(event, context)
