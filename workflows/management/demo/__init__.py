"""The demo committee of `manage.py seed_demo`: its world, its cases planned step by step, and the
simulated time they run in. Its words are data: workflows/demo/huangyan.toml."""
