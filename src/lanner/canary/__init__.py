"""The judge: a canary compared with its baseline on metrics, behaviour and alerts."""
