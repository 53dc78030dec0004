"""foot-traffic-sim's outside world: settings, sinks, real-time pacing, the CLI."""
