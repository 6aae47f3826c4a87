package invoker

// Containers sit on intrusive doubly linked lists so that the warm path
// (pop a free container, push it back after the run) allocates nothing. A
// container has two independent links: links[slotPool] for the one list of
// its key or prewarm group it is on (free, paused or stems), links[slotLRU]
// for the pool-wide list of fully idle containers, newest first.
const (
	slotPool = 0
	slotLRU  = 1
)

type link struct{ prev, next *container }

// clist is a list of containers through one link slot. The zero value with
// the right slot is an empty list. Guarded by pool.mu.
type clist struct {
	head, tail *container
	n          int
	slot       int
}

func (l *clist) front() *container { return l.head }
func (l *clist) back() *container  { return l.tail }
func (l *clist) len() int          { return l.n }

// next returns the element after c on l.
func (l *clist) next(c *container) *container { return c.links[l.slot].next }

// prev returns the element before c on l.
func (l *clist) prev(c *container) *container { return c.links[l.slot].prev }

func (l *clist) pushFront(c *container) {
	k := &c.links[l.slot]
	k.prev, k.next = nil, l.head
	if l.head != nil {
		l.head.links[l.slot].prev = c
	} else {
		l.tail = c
	}
	l.head = c
	l.n++
	c.on[l.slot] = l
}

func (l *clist) pushBack(c *container) {
	k := &c.links[l.slot]
	k.prev, k.next = l.tail, nil
	if l.tail != nil {
		l.tail.links[l.slot].next = c
	} else {
		l.head = c
	}
	l.tail = c
	l.n++
	c.on[l.slot] = l
}

// remove unlinks c, which must be on l.
func (l *clist) remove(c *container) {
	k := &c.links[l.slot]
	if k.prev != nil {
		k.prev.links[l.slot].next = k.next
	} else {
		l.head = k.next
	}
	if k.next != nil {
		k.next.links[l.slot].prev = k.prev
	} else {
		l.tail = k.prev
	}
	k.prev, k.next = nil, nil
	l.n--
	c.on[l.slot] = nil
}

// unlink removes c from whatever list holds it in slot, if any.
func unlink(c *container, slot int) {
	if l := c.on[slot]; l != nil {
		l.remove(c)
	}
}
