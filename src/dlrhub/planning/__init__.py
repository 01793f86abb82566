"""What an event or a batch of sends writes (pure), decided once for both store backends."""
