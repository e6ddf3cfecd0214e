# The two commands of the README. Each installs what it needs first (deploy/setup.sh).
.PHONY: demo test bench population real sentiment leaders setup clean

demo:
	@deploy/setup.sh
	@.venv/bin/vox demo

test:
	@deploy/setup.sh test
	@.venv/bin/python -m pytest

bench:
	@deploy/setup.sh test
	@.venv/bin/python -m bench.run

population:
	@deploy/setup.sh test
	@.venv/bin/python -m bench.population

setup:
	@deploy/setup.sh test

clean:
	rm -rf .vox .pytest_cache
real:
	@deploy/setup.sh test
	@.venv/bin/python -m bench.real

# opinion leaders: centrality against exact PageRank on the simulator, leaders on Stack Exchange
leaders:
	@deploy/setup.sh test
	@.venv/bin/python -m bench.leaders
	@.venv/bin/python -m bench.real_leaders

# text sentiment against people's ratings, shift detection against river, alerts on real reviews
sentiment:
	@deploy/setup.sh test
	@.venv/bin/python -m bench.sentiment
	@.venv/bin/python -m bench.shifts
	@.venv/bin/python -m bench.real_alerts
