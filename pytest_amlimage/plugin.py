"""pytest hooks and options of pytest-amlimage; the work happens in ``session`` and ``items``.

Inert unless asked: without an ``--aml-*`` option (or ini/spec value) nothing
here imports docker, requests or testcontainers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_amlimage.config.options import OPTIONS, rootdir_from_value

if TYPE_CHECKING:
    from pytest_amlimage.endpoint.scoring import ScoringClient
    from pytest_amlimage.engine.container import AmlContainer
    from pytest_amlimage.probe import Facts
    from pytest_amlimage.run.report import RunReport  # noqa: F401  (named in the StashKey annotation)
    from pytest_amlimage.run.session import AmlSession

SESSION_KEY = pytest.StashKey["AmlSession"]()
REPORT_KEY = pytest.StashKey["RunReport"]()
IMAGE_FIXTURES = {"aml_image", "aml_container", "aml_environment", "aml_scoring"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aml-image", "Azure ML inference image validation (pytest-amlimage)")
    for option in OPTIONS:
        if option.kind == "flag":
            group.addoption(
                option.flag,
                action="store_true",
                dest=option.ini,
                default=False,
                help=option.described,
            )
        else:
            action = "append" if option.repeatable else "store"
            group.addoption(
                option.flag,
                action=action,
                dest=option.ini,
                metavar=option.metavar,
                help=option.described,
            )
        if not option.cli_only:
            parser.addini(option.ini, option.described, type=option.ini_type)


def _asked(config: pytest.Config) -> bool:
    """Any option on the command line, or in ini one that names what to test (image, spec, deployment, build)."""
    given = any(config.getoption(o.ini) for o in OPTIONS)
    return given or any(config.getini(o.ini) for o in OPTIONS if o.asks and not o.cli_only)


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if config.getoption("aml_list_curated"):
        from pytest_amlimage.config.catalog import table

        print(table())
        return 0
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "amlimage: a built-in pytest-amlimage check")
    params = config.invocation_params
    if config.getoption("rootdir", None) is None:
        moved = rootdir_from_value(params.args, params.dir, config.rootpath, config.inipath)
        if moved:
            config.issue_config_time_warning(pytest.PytestConfigWarning(moved), stacklevel=2)
    if not _asked(config):
        return
    from pytest_amlimage.config.settings import load
    from pytest_amlimage.run.report import RunReport
    from pytest_amlimage.run.session import AmlSession

    config.stash[SESSION_KEY] = AmlSession(settings := load(config))
    if not settings.active:
        config.issue_config_time_warning(pytest.PytestConfigWarning(settings.NOTHING_TO_TEST), 2)
    config.stash[REPORT_KEY] = run_report = RunReport()
    # collects our reports as they arrive
    config.pluginmanager.register(run_report, "amlimage-report")
    if config.getoption("dist", None) == "load":
        # pytest-xdist: an image's checks share the scope "IMAGE::", so each image runs on one
        # worker and its container starts once (users' modules stay whole too).
        config.option.dist = "loadscope"


def pytest_sessionstart(session: pytest.Session) -> None:
    aml = session.config.stash.get(SESSION_KEY, None)
    if aml is not None and aml.settings.active:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        aml.begin(
            progress=reporter.write_line if reporter is not None else print,
            start_early=_alone(session.config),
        )


def _alone(config: pytest.Config) -> bool:
    """This process runs every test it collects: no --collect-only, no xdist (whose workers share the images)."""
    xdist = hasattr(config, "workerinput") or config.getoption("dist", "no") != "no"
    return not config.option.collectonly and not xdist


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    aml = config.stash.get(SESSION_KEY, None)
    if aml is not None:
        from pytest_amlimage.run.items import ImageCollector

        collectors = (
            ImageCollector.from_parent(
                session,
                name=image.reference,
                nodeid=image.reference,
                image=image,
                context=aml.context(image),
            )
            for image in aml.images.values()
        )
        items[:0] = [item for collector in collectors for item in session.genitems(collector)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    aml = metafunc.config.stash.get(SESSION_KEY, None)
    if aml is not None and IMAGE_FIXTURES & set(metafunc.fixturenames):
        images = list(aml.images)
        metafunc.parametrize("aml_image", images, ids=images, scope="session", indirect=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    aml = session.config.stash.get(SESSION_KEY, None)
    if aml is not None:
        aml.finish()
        if not hasattr(session.config, "workerinput"):  # xdist: the controller writes the reports
            session.config.stash[REPORT_KEY].write(aml.settings.reports)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    run_report = config.stash.get(REPORT_KEY, None)
    if run_report is None:
        return
    for title, lines in (
        ("endpoint", run_report.endpoint_lines()),
        ("changes", run_report.terminal_lines()),
    ):
        if lines:
            terminalreporter.section(f"amlimage: {title}")
            for line in lines:
                terminalreporter.write_line(line)
    if config.stash[SESSION_KEY].settings.lock and run_report.has_changes():
        terminalreporter.write_line(
            "accept these changes: re-run with --aml-lock-update, then commit the lock file"
        )


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    aml = config.stash.get(SESSION_KEY, None)
    return aml.header() if aml is not None and aml.settings.active else None


def _session(request: pytest.FixtureRequest) -> AmlSession:
    aml = request.config.stash.get(SESSION_KEY, None)
    if aml is None or not aml.images:
        pytest.fail(
            "no image under test: pass --aml-image IMAGE (or set aml_image in ini)", pytrace=False
        )
    return aml


@pytest.fixture(scope="session")
def aml_image(request: pytest.FixtureRequest) -> str:
    """The reference of the image under test (one test per ``--aml-image``)."""
    _session(request)
    return str(request.param)


@pytest.fixture(scope="session")
def aml_container(request: pytest.FixtureRequest, aml_image: str) -> AmlContainer:
    """The image's running container, shared with the built-in checks."""
    return _session(request).images[aml_image].container()


@pytest.fixture(scope="session")
def aml_environment(request: pytest.FixtureRequest, aml_image: str) -> Facts:
    """What the probe found in the image: distributions, Python, user, OS release."""
    return _session(request).images[aml_image].facts()


@pytest.fixture(scope="session")
def aml_scoring(request: pytest.FixtureRequest, aml_image: str) -> ScoringClient:
    """A client for the image's scoring server: ``score(payload)``, ``url``, ``wait_ready()``."""
    from pytest_amlimage.endpoint.scoring import ScoringClient

    image = _session(request).images[aml_image]
    settings = image.settings
    return ScoringClient(
        image.container(), image.readiness, settings.score_timeout, settings.endpoint.scoring_route
    )
