package testdb

import "testing"

func TestConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env                                         string
		host, port, user, password, dbname, options string
	}{
		{"", "127.0.0.1", "5432", "postgres", "", "postgres", "sslmode=disable"},
		{"postgres://ci:p%40ss%20word@db.local:6543/maint?sslmode=require", "db.local", "6543", "ci", "p%40ss%20word", "maint", "sslmode=require"},
		{"postgresql://localhost", "localhost", "5432", "postgres", "", "postgres", "sslmode=disable"},
	} {
		t.Setenv("TEST_DATABASE_URL", tc.env)
		c := config(t)
		if c.Host != tc.host || c.Port != tc.port || c.User != tc.user || c.Password != tc.password ||
			c.Database != tc.dbname || c.Options != tc.options {
			t.Errorf("TEST_DATABASE_URL=%q: got %+v", tc.env, c)
		}
		// The test role is the connecting user, so pgtestdb never creates or alters a role.
		if c.TestRole == nil || c.TestRole.Username != c.User {
			t.Errorf("TEST_DATABASE_URL=%q: test role %+v, want the connecting user", tc.env, c.TestRole)
		}
	}
}
