// Command gust-sandbox holds only the parts of Gust that run inside a
// sandbox: the linux sandbox's init and the runtime proxy. gust starts it,
// when it finds one built with it next to its own executable, instead of
// re-executing its own much larger binary: each exec inside a cold start
// then costs less (package initialisation of the whole platform and page
// faults of a 30 MB binary). Without it gust re-executes itself; nothing
// else changes. It is not meant to be run by hand.
package main
