"""An image under test without an engine: good facts, no server (every serving check meets Unavailable)."""

from __future__ import annotations

from typing import Any

from pytest_amlimage.config.deployment import BatchSettings
from pytest_amlimage.config.settings import Settings
from pytest_amlimage.endpoint.batch import BatchReport
from pytest_amlimage.endpoint.capacity import TypeCapacity
from pytest_amlimage.endpoint.inside import Inside
from pytest_amlimage.endpoint.scoring import Readiness
from pytest_amlimage.engine.container import AmlContainer, LaunchPlan
from pytest_amlimage.engine.image_info import ImageInfo
from pytest_amlimage.engine.memory import Memory
from pytest_amlimage.engine.origin import Base
from pytest_amlimage.errors import Unavailable
from pytest_amlimage.probe import Distribution, Facts, cuda
from pytest_amlimage.probe.snapshot import snapshot
from pytest_amlimage.run.launch import plan_launch

NO_SERVER = "the fake image serves nothing"
GOOD = Facts(
    uid=1000,
    python_version="3.12.3",
    python_executable="/azureml-envs/minimal/bin/python",
    user_name="dockeruser",
    markers={"python_version": "3.12", "sys_platform": "linux", "platform_machine": "x86_64"},
    os_release={"ID": "debian", "VERSION_ID": "12"},
    distributions={"numpy": Distribution("numpy", "2.1.3", ())},
)


class FakeImage:
    """``checks.image_under_test.ImageUnderTest`` with canned facts; its container and server are unavailable."""

    def __init__(
        self,
        settings: Settings,
        info: ImageInfo,
        build_error: str | None = None,
        reference: str = "img:1",
        facts: Facts = GOOD,
        batch: BatchReport | None = None,
    ) -> None:
        self.reference, self.info, self.build_error = reference, info, build_error
        self.plan: LaunchPlan = plan_launch(settings, reference, info)
        self.base: Base | None = None
        self.offline = Inside(ready=False, log=NO_SERVER)
        self.history: tuple[str, ...] = ("/bin/sh -c #(nop) ADD file:0a1b in / ",)
        self._facts = facts
        self.batch = batch or BatchReport(BatchSettings(), error=NO_SERVER)
        self.capacity: dict[str, TypeCapacity] = {}  # nothing measured: the fake serves nothing

    @property
    def gpu(self) -> dict[str, cuda.Resolution]:
        return {library: cuda.resolve((), library) for library in cuda.LIBRARIES}

    @property
    def snapshot(self) -> dict[str, Any]:
        return snapshot(self._facts, self.info, None, None)

    def facts(self) -> Facts:
        return self._facts

    def container(self) -> AmlContainer:
        raise Unavailable(NO_SERVER)

    def serving(self, *, detailed: bool = False) -> AmlContainer:
        raise Unavailable(NO_SERVER)

    def serving_readiness(self) -> Readiness:
        return self.readiness()

    def readiness(self) -> Readiness:
        return Readiness(0.0, NO_SERVER)

    def memory(self) -> Memory:
        return Memory((), oom_killed=False)

    def batch_memory(self) -> Memory:
        return Memory((), oom_killed=False)
