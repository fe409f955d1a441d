package embedded

import "fmt"

// maxNameLen is Kafka's limit on topic names; group names share it.
const maxNameLen = 249

// maxPartitions bounds the partitions of one topic.
const maxPartitions = 4096

// validName checks a topic or group name against Kafka's rules: 1 to 249
// characters from [a-zA-Z0-9._-], and not "." or "..". Such a name is also
// a safe file name.
func validName(kind, s string) error {
	if s == "" || len(s) > maxNameLen || s == "." || s == ".." {
		return fmt.Errorf("invalid %s name %q: want 1 to %d characters, not . or ..", kind, s, maxNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("invalid %s name %q: only [a-zA-Z0-9._-] allowed", kind, s)
		}
	}
	return nil
}
