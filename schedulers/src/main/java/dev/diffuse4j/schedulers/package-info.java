/** diffuse4j schedulers. */
package dev.diffuse4j.schedulers;
