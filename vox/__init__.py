"""vox: a streaming voice-of-the-customer pipeline (Kafka -> Faust -> ClickHouse)."""

__version__ = "0.1.0"
