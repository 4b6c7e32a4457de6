// Package graph is the GraphQL layer: the schema's resolvers, kept thin. They
// parse arguments, call a domain package and map its errors; no SQL here.
package graph

//go:generate go run github.com/99designs/gqlgen generate
