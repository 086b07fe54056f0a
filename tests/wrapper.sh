#!/bin/sh
# Runs one test; under valgrind when VALGRIND is set (collectd's testwrapper).
if [ -n "${VALGRIND:-}" ] && [ "${1##*.}" != py ]; then
	exec valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite "$@"
fi
exec "$@"
