"""Powertools metrics for every module, with the namespace always set.

Powertools flushes a metric set by itself once it holds 100 values, and refuses to do so without a
namespace: outside Lambda (the CLI, ``frontline dev``, tests, benches), where
``POWERTOOLS_METRICS_NAMESPACE`` may be unset, the 100th value would raise. The environment still wins.
"""

import os

from aws_lambda_powertools import Metrics

METRICS_NAMESPACE = "Frontline"


def new_metrics() -> Metrics:
    return Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE))
