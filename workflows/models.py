"""The app's models, for Django's registry: the flow's process model lives with the engine."""

from workflows.engine.models import CaseProcess

__all__ = ["CaseProcess"]
