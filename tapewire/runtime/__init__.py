"""Local runtime: the Kafka broker from jars, Docker detection, choosing what to connect to."""
