"""A host-less stand-in for ``DurableOrchestrationContext``, to replay an orchestrator.

``run(orchestrator, context)`` drives the orchestrator's generator to its end. Every call it
makes is recorded in order (``context.calls``), and ``context.events`` says when each task
was started and when it finished, so a test can assert the order of calls and how many
were in flight. Tasks finish only when the orchestrator waits for them: a single task when
it is yielded, ``task_any`` finishes the oldest unfinished task it was given (as a host
would if activities took equally long), ``task_all`` finishes all of them. What a task
returns comes from ``answers``: activity or orchestrator name → function of the call's
input, returning the result, or an ``Exception`` instance for a task that failed after its
retries. Like the SDK, a failed task raises where it is yielded alone or in ``task_all``,
and is handed back (``.result`` holding the exception) by ``task_any``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Answer = Callable[[Any], Any]
TIMER = "timer"  # the name of a ``create_timer`` call (it needs no answer)


@dataclass
class Call:
    kind: str  # "activity" or "sub_orchestrator"
    name: str
    input: Any
    instance_id: str | None = None


@dataclass(eq=False)
class FakeTask:
    call: Call
    done: bool = False
    result: Any = None


@dataclass
class _AnyTask:
    tasks: list[FakeTask]


@dataclass
class _AllTask:
    tasks: list[FakeTask]


def function_name(function: Any) -> str:
    """The registered name of a Blueprint-decorated function (or a name given as a string)."""
    return function if isinstance(function, str) else function._function._name


@dataclass
class FakeContext:
    input: Any
    answers: dict[str, Answer]
    instance_id: str = "instance-1"
    current_utc_datetime: datetime = datetime(2025, 1, 1, 1, 0, tzinfo=UTC)
    calls: list[Call] = field(default_factory=list)
    events: list[tuple[str, Call]] = field(default_factory=list)  # ("start" | "finish", call)
    sub_orchestrator_options: list[dict[str, Any]] = field(default_factory=list)

    def get_input(self) -> Any:
        return self.input

    def call_activity_with_retry(self, activity: Any, retry_options: Any,
                                 input_: Any = None) -> FakeTask:
        del retry_options
        return self._start(Call("activity", function_name(activity), input_))

    def call_activity(self, activity: Any, input_: Any = None) -> FakeTask:
        return self._start(Call("activity", function_name(activity), input_))

    def call_sub_orchestrator(self, orchestrator: Any, input_: Any = None,
                              instance_id: str | None = None, **options: Any) -> FakeTask:
        self.sub_orchestrator_options.append(options)
        return self._start(Call("sub_orchestrator", function_name(orchestrator), input_,
                                instance_id))

    def create_timer(self, fire_at: datetime) -> FakeTask:
        return self._start(Call("timer", TIMER, fire_at))

    def task_any(self, tasks: list[FakeTask]) -> _AnyTask:
        return _AnyTask(list(tasks))

    def task_all(self, tasks: list[FakeTask]) -> _AllTask:
        return _AllTask(list(tasks))

    def named(self, name: str) -> list[Call]:
        """The calls of one activity or orchestrator, in the order they were started."""
        return [call for call in self.calls if call.name == name]

    def _start(self, call: Call) -> FakeTask:
        self.calls.append(call)
        self.events.append(("start", call))
        return FakeTask(call)

    def finish(self, task: FakeTask) -> None:
        if task.done:
            return
        answer = self.answers.get(task.call.name)
        if answer is None and task.call.name == TIMER:
            answer = lambda _: None  # noqa: E731  (a timer fires; it returns nothing)
        assert answer is not None, f"no answer for {task.call.name}"
        task.result = answer(task.call.input)
        task.done = True
        self.events.append(("finish", task.call))


def generator_of(orchestrator: Any) -> Callable[[FakeContext], Generator]:
    """The user's generator function behind a Blueprint-decorated orchestrator."""
    return orchestrator._function._func.orchestrator_function


def run(orchestrator: Any, context: FakeContext) -> Any:
    """Drive ``orchestrator`` with ``context`` to its end; returns its output."""
    steps = generator_of(orchestrator)(context)
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            yielded = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as stop:
            return stop.value
        value, error = None, None
        if isinstance(yielded, FakeTask):
            context.finish(yielded)
            if isinstance(yielded.result, Exception):
                error = yielded.result
            else:
                value = yielded.result
        elif isinstance(yielded, _AnyTask):
            first = next((t for t in yielded.tasks if t.done), yielded.tasks[0])
            context.finish(first)
            value = first
        elif isinstance(yielded, _AllTask):
            for task in yielded.tasks:
                context.finish(task)
            failed = [t.result for t in yielded.tasks if isinstance(t.result, Exception)]
            if failed:
                error = failed[0]
            else:
                value = [t.result for t in yielded.tasks]
        else:
            raise AssertionError(f"the orchestrator yielded {yielded!r}")


def max_in_flight(context: FakeContext, name: str) -> int:
    """The most tasks of ``name`` started and not yet finished at any one time."""
    running = most = 0
    for what, call in context.events:
        if call.name == name:
            running += 1 if what == "start" else -1
            most = max(most, running)
    return most
