"""The drill: a simulated service with a stable and a canary track, fault scenarios, and `cockpit drill`.

scenario.py (TOML scenarios) · faults.py (fault models) · simulator.py (the service, its
/metrics and traffic endpoints) · traffic.py (the traffic command) · configuration.py (the
drill's config: default signals and triggers, time compressed) · prometheus.py (a real
Prometheus for the drill) · source.py (reading the simulator without Prometheus) ·
session.py (one drill, run by the real canary engine).
"""
