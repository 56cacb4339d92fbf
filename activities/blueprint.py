"""The blueprint every activity module uses: each activity runs in its run's log context.

Every activity input starts with the run's ``run_id`` and ``tenant_id``
(``activities.contracts.base.RunRef``); :class:`ActivityBlueprint` wraps each activity so
that, for its whole invocation, log records carry those two and the Functions invocation id
(``shared.platform.log_context``). The wrapper declares the user function's own parameters
plus ``context: func.Context``, so the Functions worker and the local runtime bind exactly
what they bound before, and pass the invocation context.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared.platform.log_context import log_context


class ActivityBlueprint(df.Blueprint):
    def activity_trigger(self, input_name: str, activity: str | None = None
                         ) -> Callable[..., Any]:
        register = super().activity_trigger(input_name=input_name, activity=activity)

        def decorator(user_function: Callable[..., Any]) -> Any:
            return register(in_run_context(user_function, input_name))

        return decorator


def in_run_context(user_function: Callable[..., Any], input_name: str) -> Callable[..., Any]:
    """``user_function`` run inside the log context of the run its input names."""
    if not inspect.iscoroutinefunction(user_function):
        raise TypeError(f"activity {getattr(user_function, '__name__', user_function)} must be "
                        "an async function, with @bp.activity_trigger the decorator closest "
                        "to it (other bindings above)")
    signature = inspect.signature(user_function)
    takes_context = "context" in signature.parameters

    @functools.wraps(user_function)
    async def activity(*args: Any, **kwargs: Any) -> Any:
        invocation = kwargs.get("context") if takes_context else kwargs.pop("context", None)
        payload = signature.bind_partial(*args, **kwargs).arguments.get(input_name)
        ref = payload if isinstance(payload, dict) else {}
        with log_context(run_id=ref.get("run_id"), tenant_id=ref.get("tenant_id"),
                         invocation_id=getattr(invocation, "invocation_id", None)):
            return await user_function(*args, **kwargs)

    if not takes_context:
        context = inspect.Parameter("context", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    annotation=func.Context)
        activity.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*signature.parameters.values(), context])
        activity.__annotations__ = {**user_function.__annotations__, "context": func.Context}
    return activity
