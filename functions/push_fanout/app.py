import time

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from frontline.push.fanout import deliver, metrics

# Stop starting new pages this long before the Lambda timeout; the rest is retried via SQS.
SAFETY_MARGIN_SECONDS = 20

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event, context):
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS
    return process_partial_response(
        event=event, record_handler=lambda record: deliver(record.body, deadline=deadline),
        processor=processor, context=context,
    )
