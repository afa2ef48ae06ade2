from frontline.runtime import end_cold_start
from frontline.starforge.worker import handle_batch, metrics

end_cold_start()


@metrics.log_metrics
def lambda_handler(event, context):
    return handle_batch(event, context)
