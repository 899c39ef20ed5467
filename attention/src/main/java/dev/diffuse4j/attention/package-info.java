/** diffuse4j attention. */
package dev.diffuse4j.attention;
