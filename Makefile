# loadmon: two-command quick start.
#   make demo   set up .venv, generate a sample history, import it into demo/loadmon.sqlite, show it
#   make test   set up .venv with the dev extras, run the tests
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# The modules `ruff format --check` holds to the formatter (README, Development: the code base as a whole is not
# ruff-formatted and is not mass-rewritten; a module joins this list once it is, e.g. a new one).
FORMATTED := \
	tests/web/test_browser_comeback.py \
	tests/core/test_migration_local_day.py \
	loadmon/storage/migrations/versions/0015_local_day_from_activity.py \
	connectors/intervals.py \
	loadmon/service/intervals.py \
	loadmon/cli/intervals.py \
	tests/intervals_server.py \
	tests/intervals/test_intervals_sync.py \
	connectors/exports.py \
	tests/tracks/test_bulk_exports.py \
	tests/strava_service/test_export_then_sync.py \
	connectors/tracks/__init__.py \
	connectors/tracks/gpx.py \
	connectors/tracks/tcx.py \
	connectors/tracks/points.py \
	connectors/tracks/sports.py \
	connectors/tracks/xmltext.py \
	tests/tracks/test_track_fixtures.py \
	tests/tracks/test_track_import.py \
	tests/tracks/trackgen.py \
	tests/tracks/conftest.py \
	connectors/strava/webhooks.py \
	loadmon/storage/webhook_store.py \
	loadmon/storage/migrations/versions/0014_strava_webhooks.py \
	loadmon/service/wakeups.py \
	loadmon/service/strava/webhooks.py \
	loadmon/service/strava/events.py \
	loadmon/web/strava_webhook.py \
	loadmon/cli/strava_webhook.py \
	tests/strava_webhooks/conftest.py \
	tests/strava_webhooks/test_webhooks.py \
	bench/webhook_latency.py \
	alerts/plan.py \
	alerts/rules/comeback.py \
	alerts/rules/episodes.py \
	loadmon/service/plan.py \
	loadmon/web/plan_page.py \
	loadmon/cli/plan.py \
	tests/alerts/test_plan.py \
	tests/alerts/test_rules_comeback.py \
	tests/web/test_plan_page.py \
	loadmon/storage/migrations/versions/0013_symptom_updates.py \
	loadmon/storage/triggers.py \
	tests/core/test_schema_from_models.py \
	tests/core/test_activity_lists_kept.py \
	tests/web/test_browser_journey.py \
	tests/web/browser.py \
	loadmon/service/activity_views.py \
	loadmon/service/uploads.py \
	loadmon/storage/profiles.py \
	loadmon/web/activity_pages.py \
	loadmon/web/upload_pages.py \
	loadmon/web/profile_svg.py \
	tests/web/test_activity_pages.py \
	tests/web/test_browser_upload.py \
	tests/core/test_activity_profile_store.py \
	tests/engine/test_activity_finding.py \
	bench/web_activities.py \
	tests/core/test_lint.py \
	bench/web_charts.py \
	alerts/__init__.py \
	alerts/rules/evidence.py \
	alerts/rules/thresholds.py \
	connectors/__init__.py \
	connectors/fit/__init__.py \
	connectors/fit/encoder.py \
	connectors/fit/reader.py \
	connectors/strava/retry.py \
	loadmon/__init__.py \
	loadmon/__main__.py \
	loadmon/config_example.py \
	loadmon/daemon/__init__.py \
	loadmon/elevation.py \
	loadmon/engine/days.py \
	loadmon/engine/findings.py \
	loadmon/engine/reasons.py \
	loadmon/report/__init__.py \
	loadmon/service/charts.py \
	loadmon/web/chart_pages.py \
	loadmon/worker/__init__.py \
	loadmon/worker/app.py \
	loadmon/service/strava/fill.py \
	bench/strava_bench.py \
	tests/strava_service/test_fewer_requests.py \
	loadmon/worker/runtime.py \
	loadmon/service/api_tokens.py \
	loadmon/service/settings.py \
	loadmon/storage/api_tokens.py \
	loadmon/web/admin_pages.py \
	loadmon/web/club_page.py \
	loadmon/web/settings_page.py \
	tests/__init__.py \
	tests/alerts/test_maildir_channel.py \
	tests/cli/__init__.py \
	tests/cli/test_injection.py \
	tests/cli/test_render.py \
	tests/conftest.py \
	tests/core/__init__.py \
	tests/core/test_cli_docs.py \
	tests/core/test_activity_read.py \
	tests/core/test_steep_descent.py \
	tests/daemon/__init__.py \
	tests/daemon/test_locks.py \
	tests/daemon/test_watch_faults.py \
	tests/delivery/__init__.py \
	tests/delivery/conftest.py \
	tests/delivery/test_delivery_alert.py \
	tests/delivery/test_delivery_maildir.py \
	tests/delivery/test_delivery_push.py \
	tests/engine/__init__.py \
	tests/engine/test_days.py \
	tests/engine/test_findings.py \
	tests/engine/test_status_window.py \
	tests/fit/conftest.py \
	tests/fit/test_fit_elevation.py \
	tests/fit/test_fit_files.py \
	tests/integrity/__init__.py \
	tests/integrity/conftest.py \
	tests/integrity/test_storage_errors.py \
	tests/scale/__init__.py \
	tests/scale/conftest.py \
	tests/scale/test_worklocks.py \
	tests/strava/__init__.py \
	tests/strava/test_strava_secrets.py \
	tests/strava_service/__init__.py \
	tests/strava_service/test_budget_store.py \
	tests/web/test_tokens.py \
	tests/web/test_auth_header.py \
	tests/web/test_settings.py \
	tests/web/test_club.py \
	tests/web/test_accounts.py \
	tests/web/test_browser_accounts.py \
	tests/web/test_tokens_store.py \
	loadmon/web/icons.py \
	loadmon/web/pwa.py \
	tests/daemon/test_daemon_web.py \
	tests/delivery/test_delivery_links.py \
	tests/web/test_alert_ack.py \
	tests/web/test_browser_offline.py \
	tests/web/test_browser_charts.py \
	tests/web/test_charts.py \
	alerts/backtest.py \
	loadmon/service/insights.py \
	loadmon/cli/insights.py \
	loadmon/web/insights_page.py \
	tests/alerts/test_backtest.py \
	tests/alerts/test_insights_cli.py \
	tests/web/test_insights.py \
	alerts/checkin.py \
	loadmon/service/checkin.py \
	loadmon/web/checkin_pages.py \
	tests/alerts/test_morning_checkin.py \
	tests/web/test_checkin_pages.py \
	loadmon/service/strava/web_connect.py \
	loadmon/web/strava_connect_pages.py \
	tests/web/test_strava_connect.py \
	tests/core/test_source_deletion.py \
	loadmon/service/import_pool.py \
	tests/fit/test_import_pool.py \
	bench/import_parallel.py

.PHONY: demo test test-fast venv bench clean lint

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# every test: the quick tier on two processes (pytest-xdist; each worker has its own PostgreSQL database,
# ports and folders), the slow tier's browser, file and Strava tests on two processes too, then the slow
# tests whose outcome rests on timing (leases, kills, races: marked serial by tests/conftest.py) one at a time
test: $(STAMP)
	$(PY) -m pytest -m "not slow" -q -n 2 $(PYTEST_ARGS)
	$(PY) -m pytest -m "slow and not serial" -q -n 2 $(PYTEST_ARGS)
	$(PY) -m pytest -m "slow and serial" $(PYTEST_ARGS)

# the quick tier (under a minute): everything but the tests marked slow (`make test` still runs those), on two
# processes: each has its own PostgreSQL database, Redis queue names and ephemeral ports, its own tmp_path
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow" -q -n 2 $(PYTEST_ARGS)

# ruff (pyflakes, pycodestyle, import order, bugbear, pyupgrade, unused noqa), the ruff format check on the
# modules listed in FORMATTED above, mypy (strict on the engine, the rules and the domain),
# the import contracts (lint-imports)
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check $(FORMATTED)
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

LOADMON_DEMO := $(VENV)/bin/loadmon --config demo/config.toml

demo: $(STAMP)
	$(PY) -m loadmon.demo --out demo
	$(LOADMON_DEMO) activities
	$(LOADMON_DEMO) status
	$(LOADMON_DEMO) alerts
	$(LOADMON_DEMO) plan check --distance-km 5
	$(LOADMON_DEMO) insights
	$(LOADMON_DEMO) report --out demo/report.html
	$(LOADMON_DEMO) daemon --once --log-console
	$(LOADMON_DEMO) daemon status
	printf 'demo-password\n' | $(LOADMON_DEMO) user add demo --athlete demo-runner --password-stdin
	@echo "web app: $(LOADMON_DEMO) web   then open http://127.0.0.1:8080/ and log in as demo / demo-password"

bench: $(STAMP)
	$(PY) bench/import_fit.py
	$(PY) bench/engine_bench.py
	$(PY) bench/cli_startup.py
	$(PY) bench/web_today.py
	$(PY) bench/web_charts.py
	$(PY) bench/web_activities.py

clean:
	rm -rf demo .pytest_cache build *.egg-info
