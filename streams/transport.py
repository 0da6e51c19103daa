"""Faust's Kafka transport with the fetch wait of the settings (`KOMPENSASI_FETCH_WAIT_MS`).

Faust builds its consumer with `fetch_max_wait_ms=1500` and no setting to change it. The embedded
broker answers a fetch only when that wait runs out: at 100 events/s decisions were p50 391 ms late
with 1,500 ms and 12 ms with 20 ms, but with 20 ms a worker restoring 500,000 changelog records was
not ready in 300 s (131 s with 1,500 ms), as each fetch brings fewer records. Apache Kafka answers
as soon as it has records, so there the wait only paces empty fetches."""

from typing import Any

from faust.transport.drivers import aiokafka as driver


class ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads this when it starts the consumer's fetcher; Faust offers no way to set it.
        consumer._fetch_max_wait_ms = transport.fetch_wait_ms
        return consumer


class Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(driver.Transport):
    Consumer = Consumer
    fetch_wait_ms = 1500


def transport_for(app: Any, fetch_wait_ms: int) -> Transport:
    """The app's transport; set before anything (topics, agents) asks the app for one."""
    transport = Transport(app.conf.broker_consumer, app)
    transport.fetch_wait_ms = fetch_wait_ms
    return transport
