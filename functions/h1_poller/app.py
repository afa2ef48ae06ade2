from dataclasses import asdict

from frontline.h1.poller import logger, metrics, run_poll_cycle


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event, context):
    return asdict(run_poll_cycle())
