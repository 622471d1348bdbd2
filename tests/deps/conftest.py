"""A copy of the project whose make-based components are the fake trees in tests/fixtures."""

import pytest

from fake_project import Project, copy_project


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    built = Project(copy_project(str(tmp_path_factory.mktemp("project"))))
    built.first_build_output = built.build()[2]
    return built
