"""Connectors: exchange feeds (live, recorded, simulated) that publish raw frames to Kafka."""
