// Package rights reads the descriptors a unix socket message carries
// (SCM_RIGHTS), for the two places that receive them: the invoker taking a
// launcher's pipes from the runtime proxy, and the sandbox spawner taking a
// sandbox's files from the driver.
package rights

import "golang.org/x/sys/unix"

// Parse returns every descriptor in the control messages oob. On an error
// it still returns the descriptors read so far, which the caller owns and
// must close.
func Parse(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		fds = append(fds, got...)
		if err != nil {
			return fds, err
		}
	}
	return fds, nil
}
