package limit

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Memory is a Store in this process's memory, for a relay that is the
// only gateway. It holds at most max keys; when full it drops the key used
// least recently. A dropped key was idle the longest, so it had refilled
// the most: flooding the table with fresh keys can at worst hand a few idle
// keys a full bucket again.
type Memory struct {
	max int

	mu  sync.Mutex
	m   map[string]*list.Element
	lru list.List // of *cell, most recently used at the front
}

type cell struct {
	key string
	tat time.Time
}

// NewMemory returns an empty Memory holding at most max keys.
func NewMemory(max int) *Memory {
	return &Memory{max: max, m: make(map[string]*list.Element)}
}

// Take implements Store. It never fails.
func (s *Memory) Take(_ context.Context, key string, r Rate, n int64, now time.Time) (bool, time.Duration, error) {
	if r.Off() {
		return true, 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var c *cell
	if e, ok := s.m[key]; ok {
		s.lru.MoveToFront(e)
		c = e.Value.(*cell)
	} else {
		if s.lru.Len() >= s.max {
			old := s.lru.Back()
			s.lru.Remove(old)
			delete(s.m, old.Value.(*cell).key)
		}
		c = &cell{key: key}
		s.m[key] = s.lru.PushFront(c)
	}
	ok, next, retry := Step(c.tat, r, n, now)
	if ok {
		c.tat = next
	}
	return ok, retry, nil
}

// Len returns the number of keys held.
func (s *Memory) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Len()
}
