"""The session as pytest sees it: registered as a plugin (pytest-xdist's habit), its hooks are methods here.

``plugin.py`` registers it only when the plugin is asked for, so nothing here runs, or is imported, otherwise.
"""

from __future__ import annotations

import pytest

from pytest_amlimage.run.items import ImageCollector
from pytest_amlimage.run.report import RunReport
from pytest_amlimage.run.session import AmlSession

NAME = "amlimage-session"


class SessionPlugin:
    """One pytest process's session and report; the hooks that start, collect, report and clean up."""

    def __init__(self, config: pytest.Config, aml: AmlSession) -> None:
        self.config, self.aml, self.report = config, aml, RunReport()
        config.pluginmanager.register(self.report, "amlimage-report")  # collects our reports

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.aml.settings.active:
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            self.aml.begin(
                progress=reporter.write_line if reporter is not None else print,
                start_early=_alone(self.config),
            )

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, items: list[pytest.Item]
    ) -> None:
        collectors = (
            ImageCollector.from_parent(
                session,
                name=image.reference,
                nodeid=image.reference,
                image=image,
                context=self.aml.context(image),
            )
            for image in self.aml.images.values()
        )
        items[:0] = [item for collector in collectors for item in session.genitems(collector)]

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if IMAGE_FIXTURES & set(metafunc.fixturenames):
            images = list(self.aml.images)
            metafunc.parametrize("aml_image", images, ids=images, scope="session", indirect=True)

    def pytest_sessionfinish(self) -> None:
        self.aml.finish()
        if not hasattr(self.config, "workerinput"):  # xdist: the controller writes the reports
            self.report.write(self.aml.settings.reports)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        for title, lines in (
            ("endpoint", self.report.endpoint_lines()),
            ("capacity", self.report.capacity_lines()),
            ("changes", self.report.terminal_lines()),
        ):
            if lines:
                terminalreporter.section(f"amlimage: {title}")
                for line in lines:
                    terminalreporter.write_line(line)
        for image in self.aml.images.values():
            job = image.batch_ended
            if job is not None and job.outputs is not None:
                terminalreporter.write_line(
                    f"amlimage: the batch job of {image.reference}: {job.summary()}; its outputs and "
                    f"each worker's log: {job.outputs}"
                )
        if self.aml.settings.lock and self.report.has_changes():
            terminalreporter.write_line(
                "accept these changes: re-run with --aml-lock-update, then commit the lock file"
            )

    def pytest_report_header(self) -> list[str] | None:
        return self.aml.header() if self.aml.settings.active else None


IMAGE_FIXTURES = {"aml_image", "aml_container", "aml_environment", "aml_scoring"}


def _alone(config: pytest.Config) -> bool:
    """This process runs every test it collects: no --collect-only, no xdist (whose workers share the images)."""
    xdist = hasattr(config, "workerinput") or config.getoption("dist", "no") != "no"
    return not config.option.collectonly and not xdist
