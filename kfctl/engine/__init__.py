"""The apply/delete engine: walks a plan against a cluster and reports events.

``readiness`` holds the per-kind health rules the engine waits on.
"""
