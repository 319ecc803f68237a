"""`celery worker` whose webhook deliveries are retried a second apart.

Run as `python -m tests.quick_retries_worker <celery arguments>`: every
process of the pool shortens scoring.webhooks.retry_delay once it starts, so
a test sees the real retry (self.retry with a countdown, through the broker)
without waiting the production backoff of 30 s and more.
"""

import sys
from typing import Any

from celery.__main__ import main
from celery.signals import worker_process_init

RETRY_SECONDS = 1


@worker_process_init.connect
def _quick_retries(**kwargs: Any) -> None:
    from scoring import webhooks

    webhooks.retry_delay = lambda attempts: RETRY_SECONDS


if __name__ == "__main__":
    sys.argv[0] = "celery"
    main()
