package domain

import "github.com/google/uuid"

// LinkAgents records on each agent the ids of all of them (Agent.Batch).
func LinkAgents(agents []*Agent) {
	ids := make([]uuid.UUID, len(agents))
	for i, a := range agents {
		ids[i] = a.ID
	}
	for _, a := range agents {
		a.Batch = ids
	}
}

// LinkCollections records on each collection the ids of all of them.
func LinkCollections(cols []*Collection) {
	ids := make([]uuid.UUID, len(cols))
	for i, c := range cols {
		ids[i] = c.ID
	}
	for _, c := range cols {
		c.Batch = ids
	}
}

// LinkThreads records on each thread all the threads read with it.
func LinkThreads(threads []*Thread) {
	for _, t := range threads {
		t.Batch = threads
	}
}
