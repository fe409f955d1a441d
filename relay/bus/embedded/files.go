package embedded

import (
	"container/list"
	"errors"
	"os"
	"sync"

	"github.com/mutualcoop/mutual/relay/bus"
)

// fileCache keeps a bounded number of segment files open, so that tens of
// thousands of mostly idle partitions do not hold a descriptor each. Files
// in use are reference-counted; idle ones are kept in LRU order and closed
// when the cache is over its size.
type fileCache struct {
	max int

	mu     sync.Mutex
	files  map[string]*cachedFile
	idle   list.List // of *cachedFile with refs == 0, most recent first
	closed bool
}

type cachedFile struct {
	path string
	f    *os.File
	refs int
	elem *list.Element // in idle, when refs == 0
	gone bool          // forgotten: close on last release
}

func newFileCache(max int) *fileCache {
	return &fileCache{max: max, files: make(map[string]*cachedFile)}
}

// acquire returns the open file at path; the caller must release it.
func (c *fileCache) acquire(path string) (*cachedFile, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, bus.ErrClosed
	}
	if cf := c.files[path]; cf != nil {
		c.use(cf)
		c.mu.Unlock()
		return cf, nil
	}
	c.mu.Unlock()

	// Open without the lock; another caller may race us to the same path.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		f.Close()
		return nil, bus.ErrClosed
	}
	if cf := c.files[path]; cf != nil {
		f.Close()
		c.use(cf)
		return cf, nil
	}
	cf := &cachedFile{path: path, f: f, refs: 1}
	c.files[path] = cf
	c.evict()
	return cf, nil
}

func (c *fileCache) use(cf *cachedFile) {
	if cf.elem != nil {
		c.idle.Remove(cf.elem)
		cf.elem = nil
	}
	cf.refs++
}

// release returns a file obtained from acquire.
func (c *fileCache) release(cf *cachedFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cf.refs--
	if cf.refs > 0 {
		return
	}
	if cf.gone || c.closed {
		cf.f.Close()
		return
	}
	cf.elem = c.idle.PushFront(cf)
	c.evict()
}

// evict closes idle files while the cache holds more than max.
func (c *fileCache) evict() {
	for len(c.files) > c.max && c.idle.Len() > 0 {
		cf := c.idle.Remove(c.idle.Back()).(*cachedFile)
		cf.elem = nil
		delete(c.files, cf.path)
		cf.f.Close()
	}
}

// forget drops path from the cache, before or after the file is removed.
// Users holding it keep a valid descriptor until they release it.
func (c *fileCache) forget(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cf := c.files[path]
	if cf == nil {
		return
	}
	delete(c.files, path)
	if cf.refs == 0 {
		c.idle.Remove(cf.elem)
		cf.elem = nil
		cf.f.Close()
		return
	}
	cf.gone = true
}

// close closes every idle file; files in use close on their last release.
func (c *fileCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var errs []error
	for path, cf := range c.files {
		delete(c.files, path)
		if cf.refs == 0 {
			if err := cf.f.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	c.idle.Init()
	return errors.Join(errs...)
}
