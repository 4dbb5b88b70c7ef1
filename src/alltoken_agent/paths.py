"""Where alltoken-agent keeps its config, data and cache."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from alltoken_agent._frozen import FrozenValue

APP_NAME = "alltoken-agent"
HOME_ENV = "ALLTOKEN_AGENT_HOME"
"""Setting this moves all three folders under one root, so tests and users can isolate a run."""


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class AppDirs(FrozenValue):
    """The three folders the tool writes to."""

    config: Path
    data: Path
    cache: Path

    def __init__(self, config: Path, data: Path, cache: Path) -> None:
        fields = self.__dict__
        fields["config"] = config
        fields["data"] = data
        fields["cache"] = cache

    @property
    def config_file(self) -> Path:
        """The TOML config file."""
        return self.config / "config.toml"


def app_dirs(environ: Mapping[str, str] | None = None) -> AppDirs:
    """Return the folders, honouring ``ALLTOKEN_AGENT_HOME`` over platformdirs' user dirs."""
    env = os.environ if environ is None else environ
    home = env.get(HOME_ENV)
    if home:
        root = Path(home).expanduser()
        return AppDirs(config=root / "config", data=root / "data", cache=root / "cache")
    return AppDirs(
        config=Path(platformdirs.user_config_dir(APP_NAME)),
        data=Path(platformdirs.user_data_dir(APP_NAME)),
        cache=Path(platformdirs.user_cache_dir(APP_NAME)),
    )
