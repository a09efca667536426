"""``flask --app tracker ...`` commands: thin wrappers over services."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from tracker.cli import intake, ops, recommend, setup

    for command in (
        setup.demo_command,
        setup.create_user_command,
        *intake.COMMANDS,
        recommend.recommend_group,
        ops.check_command,
        ops.rotate_credentials_command,
        ops.rotate_personal_data_command,
        ops.expire_personal_data_command,
    ):
        app.cli.add_command(command)
