#!/bin/sh
# Deploys the example web service: a package and four web actions.
#
#   ./deploy.sh                 with gust on PATH, or GUST=./bin/gust ./deploy.sh
#   GUST=wsk ./deploy.sh        the stock OpenWhisk CLI works the same way
#
# The CLI's own configuration (~/.wskprops, --apihost, --auth; gust defaults
# to http://127.0.0.1:3233 with the guest key) says where to deploy. Running
# it again updates everything in place.
set -eu

GUST=${GUST:-gust}
PKG=${PKG:-webservice}
cd "$(dirname "$0")"

# create, or update when it already exists
create() {
	kind=$1
	shift
	if out=$("$GUST" "$kind" create "$@" 2>&1); then
		echo "$out"
	else
		"$GUST" "$kind" update "$@"
	fi
}

create package "$PKG" -p title "Gust web service"
create action "$PKG/hello" hello.js --web true
create action "$PKG/api" api.js --web true
create action "$PKG/badge" badge.js --web true
create action "$PKG/clock" clock.py --web true

echo "deployed; the service's URLs:"
for a in hello api badge clock; do
	"$GUST" action get "$PKG/$a" --url | tail -n 1
done
