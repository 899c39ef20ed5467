/** diffuse4j bench. */
package dev.diffuse4j.bench;
