// Package docker holds no code. Its folder keeps the files that package
// Netlens for Docker (grafana.ini of the image); its tests check that those
// files, the Dockerfile, docker-compose.yaml, the Grafana provisioning, the
// FTD and Flows dashboards and the README agree with the code they
// configure, so a renamed setting, plugin id or query field breaks a test
// here rather than the demo. The IOS XR and INT dashboards' end-to-end tests
// are in docker/iosxr and docker/int, packages of their own so each
// package's tests stay within their time budget.
package docker
