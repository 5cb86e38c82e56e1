"""ASGI entry point for uvicorn: `uvicorn web.asgi:app`."""

import gc

from web.app import create_app

app = create_app()

# Everything imported and built so far lives as long as the process. A full
# garbage collection walks every tracked object, and under load (in-flight
# requests get promoted to the oldest generation) full collections came every
# second or so and took 15-130 ms, each one stalling every request in the
# process. Freezing moves these objects out of the collector's sight.
gc.collect()
gc.freeze()
