"""pytest hooks and options of pytest-amlimage; when asked for, the session registers as a plugin (``run.hooks``).

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
    from pytest_amlimage.run.hooks import SessionPlugin
    from pytest_amlimage.run.session import AmlSession


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


def _not_rewritten(config: pytest.Config) -> None:
    """Leave the package's own modules out of pytest's assertion rewriting, which it gives every module of a
    plugin's distribution: ours hold no test assertions, and rewriting parses and compiles each one again on
    every run that cannot cache bytecode (PYTHONDONTWRITEBYTECODE, a read-only site-packages): 0.2 s. Users'
    test files are rewritten as ever; on a pytest without this hook's set, nothing changes."""
    marked = getattr(config.pluginmanager.rewrite_hook, "_must_rewrite", None)
    if isinstance(marked, set):
        marked.discard(__package__)


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if config.getoption("aml_list_curated"):
        from pytest_amlimage.config.catalog import table

        print(table())
        return 0
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "amlimage: a built-in pytest-amlimage check")
    # also unasked: a run in-process under this one (pytester) imports ours later
    _not_rewritten(config)
    params = config.invocation_params
    if config.getoption("rootdir", None) is None:
        moved = rootdir_from_value(params.args, params.dir, config.rootpath, config.inipath)
        if moved:
            config.issue_config_time_warning(pytest.PytestConfigWarning(moved), stacklevel=2)
    if not _asked(config):
        return
    from pytest_amlimage.config.settings import load
    from pytest_amlimage.run.hooks import NAME, SessionPlugin
    from pytest_amlimage.run.session import AmlSession

    settings = load(config)
    if not settings.active:
        config.issue_config_time_warning(pytest.PytestConfigWarning(settings.NOTHING_TO_TEST), 2)
    config.pluginmanager.register(SessionPlugin(config, AmlSession(settings)), NAME)
    if config.getoption("dist", None) == "load":
        # pytest-xdist: an image's checks share the scope "IMAGE::", so each image runs on one
        # worker and its container starts once (users' modules stay whole too).
        config.option.dist = "loadscope"


def _session(request: pytest.FixtureRequest) -> AmlSession:
    plugin: SessionPlugin | None = request.config.pluginmanager.get_plugin("amlimage-session")
    aml = plugin.aml if plugin is not None else None
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
