"""Scale-out: agents publish events to NATS JetStream, rule workers consume as a queue group."""
