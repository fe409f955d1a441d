package degrees

// Unreachable is the distance of a user no path links to a source.
const Unreachable = -1

// Distances returns, for each user of g, the number of contacts between
// them and the nearest of sources (numbers of g's index): 0 for a
// source, 1 for a source's contact, and so on; Unreachable when no path
// leads to any. It is one breadth-first search from all the sources at
// once, in time linear in the graph; its queue takes 4 bytes a user,
// as does the result.
func (g *Graph) Distances(sources []uint32) []int32 {
	dist := make([]int32, g.Len())
	for i := range dist {
		dist[i] = Unreachable
	}
	queue := make([]uint32, 0, g.Len())
	for _, s := range sources {
		if dist[s] != 0 {
			dist[s] = 0
			queue = append(queue, s)
		}
	}
	for head := 0; head < len(queue); head++ {
		u := queue[head]
		d := dist[u] + 1
		for _, v := range g.Neighbours(u) {
			if dist[v] == Unreachable {
				dist[v] = d
				queue = append(queue, v)
			}
		}
	}
	return dist
}
